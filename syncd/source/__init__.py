"""Source: where revisions come from. Reads a commit (or a directory) into files, clones and
fetches repositories, watches refs and verifies webhooks. The only package that imports git or
watchfiles.

Stage 1 of the pipeline (git -> manifests -> engine types -> core -> render/apply -> daemon ->
api -> cli). May import: the root leaves (`ids`, `errors`, `taint`, `logs`, `settings`,
`datadir`, `secretpolicy`, `operatorenv`) only.
"""

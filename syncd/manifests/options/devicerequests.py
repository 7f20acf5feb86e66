"""Device requests (Docker's `DeviceRequests`, GPUs above all): the service's `gpus` and
`deploy.resources.reservations.devices`, in Compose's meaning.

`gpus: all` asks for every GPU; an entry `{driver, count, device_ids, capabilities, options}`
asks for some (`count` a number or `all`, or `device_ids`, not both; neither: all). A reserved
device names its `capabilities` (required, as in Compose). Both grant host devices: the policy's
`devices` key (`policyguard`). Pure: no I/O.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StrictInt, StrictStr, model_validator
from pydantic_core import PydanticCustomError

from syncd.manifests.options import securityvalues as v
from syncd.manifests.strict import StrictModel

_MAX_ITEMS = 64
Word = Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/=-]{0,127}$")]
OptionName = Annotated[StrictStr, Field(min_length=1, max_length=255), AfterValidator(v.check_key)]
OptionValue = Annotated[StrictStr, Field(max_length=4096), AfterValidator(v.check_scalar)]


class DeviceRequest(StrictModel):
    """One entry of `gpus` (capability `gpu` implied)."""

    driver: Word | None = Field(None, description="e.g. nvidia; omitted: the daemon's choice")
    count: Annotated[StrictInt, Field(ge=-1, le=1024)] | Literal["all"] | None = Field(
        None, description="how many devices, or all (-1); omitted with no deviceIds: all"
    )
    device_ids: Annotated[list[Word], Field(min_length=1, max_length=_MAX_ITEMS)] | None = Field(
        None, description="the devices by id (not with count)"
    )
    capabilities: Annotated[list[Word], Field(max_length=_MAX_ITEMS)] | None = Field(
        None, description="capabilities the devices must all have, e.g. [gpu, utility]"
    )
    options: Annotated[dict[OptionName, OptionValue], Field(max_length=_MAX_ITEMS)] | None = None

    @model_validator(mode="after")
    def _count_or_ids(self) -> DeviceRequest:
        if self.count is not None and self.device_ids is not None:
            raise PydanticCustomError("device", "count and deviceIds exclude each other")
        return self


class ReservedDevice(DeviceRequest):
    """One entry of `deploy.resources.reservations.devices`: `capabilities` is required."""

    @model_validator(mode="after")
    def _capabilities(self) -> ReservedDevice:
        if not self.capabilities:
            raise PydanticCustomError(
                "device", "a reserved device names its capabilities, e.g. [gpu]"
            )
        return self


Gpus = Literal["all"] | Annotated[list[DeviceRequest], Field(max_length=_MAX_ITEMS)]
ReservedDevices = Annotated[list[ReservedDevice], Field(min_length=1, max_length=_MAX_ITEMS)]

"""What several areas share above the models: branding, subjects, the audience of an event, fan-out records, job and erasure registries, signals."""

# Every process that changes rows (web, scheduler, LMTP, CLI) imports `forum.common`: the
# page version's listeners must be connected in all of them, or a change there leaves a
# cached page stale.
from forum.common import page_versions as _page_versions  # noqa: F401, E402

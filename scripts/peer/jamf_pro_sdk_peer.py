#!/usr/bin/env python3
"""The jamf-pro-sdk peer of `mdm devices --vendor jamf` (scripts/peer-bench.sh).

Reads every computer and mobile device with jamf-pro-sdk 0.9a1 the way its
documentation shows: a JamfProClient with an ApiClientCredentialsProvider,
`pro_api.get_computer_inventory_v1(sections=[...], return_generator=False)`
and the body of `pro_api.get_mobile_device_inventory_v2(sections=[...])`
(with `exception-handling=LENIENT`, see below), asking for the
sections `mdm` reads (jamf-client's ComputerSection::INVENTORY and
MobileDeviceSection::INVENTORY). Prints one `entity<TAB>id<TAB>serial` line
per record on stdout, for the comparison with `mdm`'s records.

Environment: JAMF_URL (the simulator's `http://127.0.0.1:PORT/jamf`),
JAMF_CLIENT_ID, JAMF_CLIENT_SECRET; PEER_PAGE_SIZE (default: the SDK's
default page size, 100).
"""

import os
import sys
from urllib.parse import urlparse

from jamf_pro_sdk import ApiClientCredentialsProvider, JamfProClient, SessionConfig
from jamf_pro_sdk.clients.pro_api.pagination import Paginator
from jamf_pro_sdk.models.pro.mobile_devices import MobileDevice

COMPUTER_SECTIONS = [
    "GENERAL",
    "HARDWARE",
    "OPERATING_SYSTEM",
    "USER_AND_LOCATION",
    "PURCHASING",
    "DISK_ENCRYPTION",
]
MOBILE_SECTIONS = ["GENERAL", "HARDWARE", "USER_AND_LOCATION", "PURCHASING", "NETWORK"]


def main() -> int:
    url = urlparse(os.environ["JAMF_URL"])
    client = JamfProClient(
        server=url.hostname,
        port=url.port,
        credentials=ApiClientCredentialsProvider(
            os.environ["JAMF_CLIENT_ID"], os.environ["JAMF_CLIENT_SECRET"]
        ),
        # The simulator speaks plain HTTP on loopback.
        session_config=SessionConfig(scheme="http"),
    )
    # A real Jamf Pro serves the APIs at the root; the simulator serves Jamf
    # under a path prefix (/jamf). The SDK builds every URL from this one
    # attribute (clients/__init__.py and clients/auth.py).
    client.base_server_url = os.environ["JAMF_URL"].rstrip("/")
    kwargs = {}
    if os.environ.get("PEER_PAGE_SIZE"):
        kwargs["page_size"] = int(os.environ["PEER_PAGE_SIZE"])

    computers = client.pro_api.get_computer_inventory_v1(
        sections=COMPUTER_SECTIONS, return_generator=False, **kwargs
    )
    # get_mobile_device_inventory_v2(sections=MOBILE_SECTIONS) has no way to
    # ask for exception-handling=LENIENT, and the simulator (like a real
    # server with one device whose data Jamf cannot read) answers every page
    # holding that device with a 500 under the default STRICT. So this is
    # that method's own body (clients/pro_api/__init__.py, 0.9a1) with the
    # one parameter `mdm` sends added.
    mobiles = Paginator(
        api_client=client.pro_api,
        resource_path="v2/mobile-devices/detail",
        return_model=MobileDevice,
        extra_params={"section": ",".join(MOBILE_SECTIONS), "exception-handling": "LENIENT"},
        **kwargs,
    )(return_generator=False)
    out = sys.stdout
    for c in computers:
        serial = c.hardware.serialNumber if c.hardware else None
        out.write(f"computer\t{c.id}\t{serial or ''}\n")
    for m in mobiles:
        serial = m.hardware.serialNumber if m.hardware else None
        out.write(f"mobile_device\t{m.mobileDeviceId}\t{serial or ''}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""The jamf2snipe access pattern (grokability/jamf2snipe), for
scripts/peer-bench.sh: one Classic API list, then one GET per computer and
one per mobile device.

Like jamf2snipe it calls `requests.get` with Basic auth (`auth=(user,
password)`) and `Accept: application/json` for every request, no session
(so no connection reuse), one request at a time:

    GET /JSSResource/computers             -> {"computers": [{"id", "name"}]}
    GET /JSSResource/computers/id/{id}     -> computer.general.serial_number
    GET /JSSResource/mobiledevices         -> {"mobile_devices": [...]}
    GET /JSSResource/mobiledevices/id/{id} -> mobile_device.general.serial_number

Prints one `entity<TAB>id<TAB>serial` line per record on stdout.
Environment: JAMF_URL, JAMF_USERNAME, JAMF_PASSWORD.
"""

import os
import sys

import requests

HEADERS = {"Accept": "application/json"}


def get(url: str, auth: tuple) -> dict:
    response = requests.get(url, auth=auth, headers=HEADERS, timeout=60)
    response.raise_for_status()
    return response.json()


def main() -> int:
    base = os.environ["JAMF_URL"].rstrip("/")
    auth = (os.environ["JAMF_USERNAME"], os.environ["JAMF_PASSWORD"])
    out = sys.stdout
    for entity, plural, singular in (
        ("computer", "computers", "computer"),
        ("mobile_device", "mobiledevices", "mobile_device"),
    ):
        listing = get(f"{base}/JSSResource/{plural}", auth)
        key = "computers" if plural == "computers" else "mobile_devices"
        for item in listing.get(key, []):
            record = get(f"{base}/JSSResource/{plural}/id/{item['id']}", auth)[singular]
            general = record.get("general", {})
            out.write(f"{entity}\t{general.get('id')}\t{general.get('serial_number') or ''}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

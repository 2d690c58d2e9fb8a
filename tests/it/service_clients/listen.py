"""Python `mcp` 2.x listening for changes on `statebox serve` (protocol
2026-07-28 `subscriptions/listen` over stateless HTTP) while the statebox
CLI writes to the same repository.

usage: listen.py URL TOKEN STATEBOX_BIN REPO   (REPO holds release 4.21.7)
Prints one line per check and exits non-zero on the first failure.
"""
import asyncio
import subprocess
import sys

import httpx2
from mcp.client.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.subscriptions import ResourcesListChanged, ResourceUpdated

URI = "statebox://release/4.21.7"
# The server polls the branch tip every 200 ms; the rest is slack for a
# loaded machine, not a measurement.
WITHIN = 10


def check(condition, what):
    if not condition:
        raise SystemExit(f"FAIL [listen]: {what}")
    print(f"ok [listen] {what}")


async def main():
    url, token, statebox, repo = sys.argv[1:5]

    def cli(*args):
        subprocess.run([statebox, "--repo", repo, *args], check=True, capture_output=True)

    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30)
    async with http:
        transport = streamable_http_client(url, http_client=http)
        async with Client(transport, mode="2026-07-28") as client:
            async with client.listen(resource_subscriptions=[URI], resources_list_changed=True) as sub:
                check(URI in (sub.honored.resource_subscriptions or []), "the subscription is honored")
                events = aiter(sub)
                cli("task", "set", "-r", "4.21.7", "drop-bugs", "--status", "Pass")
                event = await asyncio.wait_for(anext(events), WITHIN)
                check(event == ResourceUpdated(uri=URI), f"resource updated after a CLI write ({event})")
                cli("init", "-r", "4.21.8")
                event = await asyncio.wait_for(anext(events), WITHIN)
                check(event == ResourcesListChanged(), f"list changed after a CLI init ({event})")
    print("mcp 2.x listen: all checks passed")


asyncio.run(main())

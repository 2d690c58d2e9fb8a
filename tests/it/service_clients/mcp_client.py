"""A real third-party MCP client against statebox: the official Python `mcp`
package, 1.x in the original dashboard collector's style
(`json.loads(result.content[0].text)`, raising on `isError`) and 2.x
(snake_case fields, structured content).

usage: mcp_client.py stdio STATEBOX_BIN REPO
       mcp_client.py http URL TOKEN
Prints one line per check and exits non-zero on the first failure.
"""
import asyncio
import json
import sys
from importlib.metadata import version

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

MAJOR = int(version("mcp").split(".")[0])
RELEASE = "4.21.3"


def field(result, camel, snake):
    """1.x spells result fields camelCase, 2.x snake_case."""
    return getattr(result, camel) if MAJOR < 2 else getattr(result, snake)


async def collector_call(session, tool, **kwargs):
    """What tools/mcp_data_collector.py does with every answer."""
    result = await session.call_tool(tool, arguments=kwargs)
    if field(result, "isError", "is_error"):
        raise RuntimeError(f"Tool returned error: {result.content[0].text}")
    return json.loads(result.content[0].text)


def check(condition, what):
    if not condition:
        raise SystemExit(f"FAIL [mcp {MAJOR}.x]: {what}")
    print(f"ok [mcp {MAJOR}.x] {what}")


async def exercise(session):
    await session.initialize()
    names = {t.name for t in (await session.list_tools()).tools}
    for tool in ["oar_get_release_status", "oar_update_task_status", "oar_add_issue",
                 "oar_resolve_issue", "oar_get_issues", "oar_get_task_blocker",
                 "oar_get_release_metadata", "discover_active_releases",
                 "oar_create_test_report", "statebox_status", "statebox_set_task"]:
        check(tool in names, f"tools/list has {tool}")

    created = await session.call_tool("oar_create_test_report", arguments={"release": RELEASE})
    check(created.content[0].text.startswith("✓ Command succeeded"), "oar_create_test_report succeeds")
    update = await collector_call(session, "oar_update_task_status", release=RELEASE,
                                  task_name="take-ownership", status="Pass", result="owner: qe")
    check(update["success"] is True and update["updated_systems"] == ["statebox"], "task update")
    state = await collector_call(session, "oar_get_release_status", release=RELEASE)
    tasks = {t["name"]: t["status"] for t in state["tasks"]}
    check(tasks.get("take-ownership") == "Pass", "the write is read back")
    added = await collector_call(session, "oar_add_issue", release=RELEASE, issue="CDN push stuck",
                                 related_tasks="push-to-cdn-staging")
    check(added["issue"]["blocker"] is True and added["issue"]["related_tasks"] == ["push-to-cdn-staging"],
          "oar_add_issue: blocker by default, comma list")
    blocker = await collector_call(session, "oar_get_task_blocker", release=RELEASE,
                                   task_name="push-to-cdn-staging")
    check(blocker["blocked"] is True, "oar_get_task_blocker")
    meta = await collector_call(session, "oar_get_release_metadata", release=RELEASE)
    check(set(meta) == {"release", "advisories", "jira_ticket", "candidate_builds", "shipment_mr",
                        "release_date"}, "oar_get_release_metadata keys")
    # The original's error convention: inside the JSON, isError false.
    bad = await collector_call(session, "oar_update_task_status", release=RELEASE,
                               task_name="take-ownership", status="Done")
    check(bad["success"] is False and "Invalid status" in bad["error"], "errors inside the JSON")
    missing = await collector_call(session, "oar_get_release_status", release="4.1.99")
    check(missing["source"] == "error" and missing["overall_status"] == "Unknown", "missing release")

    # The better tools: structured output and real errors.
    status = await session.call_tool("statebox_status", arguments={})
    structured = field(status, "structuredContent", "structured_content")
    check(any(r["release"] == RELEASE for r in structured["releases"]), "statebox_status structured")
    wrong = await session.call_tool("statebox_set_task", arguments={
        "release": RELEASE, "task": "no-such-task", "status": "Pass"})
    check(field(wrong, "isError", "is_error") is True, "statebox_* errors set isError")
    check(json.loads(wrong.content[0].text)["error"]["kind"] == "rejected", "error kind rejected")
    read = await session.read_resource(f"statebox://release/{RELEASE}")
    check("take-ownership" in read.contents[0].text, "resource statebox://release/{version}")


async def main():
    mode = sys.argv[1]
    if mode == "stdio":
        params = StdioServerParameters(command=sys.argv[2], args=["--repo", sys.argv[3], "mcp"])
        async with stdio_client(params) as streams:
            async with ClientSession(streams[0], streams[1]) as session:
                await exercise(session)
    else:
        url, token = sys.argv[2], sys.argv[3]
        from mcp.client.streamable_http import streamable_http_client
        headers = {"Authorization": f"Bearer {token}"}
        if MAJOR < 2:
            import httpx
            client = httpx.AsyncClient(headers=headers, timeout=30)
        else:
            import httpx2
            client = httpx2.AsyncClient(headers=headers, timeout=30)
        async with client:
            async with streamable_http_client(url, http_client=client) as streams:
                async with ClientSession(streams[0], streams[1]) as session:
                    await exercise(session)
    print(f"mcp {version('mcp')} {mode}: all checks passed")


asyncio.run(main())

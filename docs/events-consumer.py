#!/usr/bin/env python3
"""Follow an srplay event stream: report failed and unreachable hosts as they happen,
then the slowest tasks and how the run ended.

    srplay site.yml -i hosts --output json | python3 docs/events-consumer.py
    python3 docs/events-consumer.py --slow 5 < events.jsonl

Only the standard library; the stream is described in docs/events.md.
"""

import argparse
import json
import sys

SCHEMA = 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slow", type=float, default=10.0,
                        help="list tasks that took at least this many seconds on a host (default 10)")
    parser.add_argument("--top", type=int, default=5, help="how many slow tasks to list")
    args = parser.parse_args()

    slow = []  # (seconds, host, task)
    for line in sys.stdin:
        event = json.loads(line)
        if event["schema"] != SCHEMA:
            sys.exit(f"schema {event['schema']} is not the {SCHEMA} this script knows")
        kind = event["event"]
        if kind == "result":
            if event["status"] in ("failed", "unreachable") and not event["ignored"]:
                item = f" (item={event['item']})" if event["item"] is not None else ""
                msg = event["result"].get("msg", "")
                print(f"{event['status'].upper()} {event['host']}: {event['task']}{item}: {msg}", flush=True)
            if event["duration"] >= args.slow:
                slow.append((event["duration"], event["host"], event["task"]))
        elif kind == "run_end":
            slow.sort(reverse=True)
            print(f"slowest tasks (at least {args.slow:g}s):")
            for seconds, host, task in slow[:args.top]:
                print(f"  {seconds:8.2f}s  {host}: {task}")
            error = event["error"]
            if error:
                where = f" ({error['file']}:{error['line']})" if error["file"] else ""
                print(f"stopped: {error['message']}{where}")
            print(f"exit code {event['exit_code']}")


if __name__ == "__main__":
    main()

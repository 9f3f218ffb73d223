"""worker.py is the program behind `nodeipc bridge` in the tests.

It reads one JSON message per line on stdin and answers on stdout:
  {"op": "bad"}            -> a line that is not JSON, then {"after_bad": true}
  {"op": "exit", "code": N} -> exits with status N
  anything else            -> {"py": message}
At the end of stdin it writes "worker: stdin closed" on stderr and exits 5.
"""
import json
import sys

while True:
    line = sys.stdin.readline()
    if not line:
        break
    msg = json.loads(line)
    op = msg.get("op") if isinstance(msg, dict) else None
    if op == "bad":
        print("this is not json", flush=True)
        print(json.dumps({"after_bad": True}), flush=True)
    elif op == "exit":
        sys.exit(msg["code"])
    else:
        print(json.dumps({"py": msg}, ensure_ascii=False), flush=True)

sys.stderr.write("worker: stdin closed\n")
sys.exit(5)

#!/usr/bin/env python3
"""test_summary.py JUNIT.xml... - the closing lines of `make test`: for each
suite (a JUnit XML file written by ctest or pytest) how many tests passed,
failed and were skipped, and every skipped test with the reason it gave."""
import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def skip_reason(case):
    """The reason a skipped test gave: the 'SKIPPED: ...' line a ctest
    program printed, or pytest's <skipped message>."""
    for line in (case.findtext("system-out") or "").splitlines():
        if "SKIPPED" in line:
            return line.split("SKIPPED", 1)[1].lstrip(": ").strip()
    el = case.find("skipped")
    if el is not None:
        return el.get("message") or (el.text or "").strip() or "no reason given"
    return "no reason given"


def summarize(path):
    if not path.exists():
        print(f"  {path.stem}: no results (the suite did not run)")
        return
    cases = ET.parse(path).getroot().iter("testcase")
    passed = failed = 0
    skipped = []
    for c in cases:
        if c.find("failure") is not None or c.find("error") is not None:
            failed += 1
        elif c.find("skipped") is not None or c.get("status") == "notrun":
            name, cls = c.get("name", ""), c.get("classname", "")
            name = name if cls in ("", name) else f"{cls}::{name}"
            skipped.append((name, skip_reason(c)))
        else:
            passed += 1
    print(f"  {path.stem}: {passed} passed, {failed} failed, {len(skipped)} skipped")
    for name, why in skipped:
        print(f"    skipped {name}: {why}")


def main(paths):
    print("== summary")
    for p in paths:
        summarize(Path(p))


if __name__ == "__main__":
    main(sys.argv[1:])

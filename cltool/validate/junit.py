"""The validate report as JUnit XML, for CI: one test case per check."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from cltool.validate.checks import FAIL, SKIP


def junit_xml(report: dict[str, Any]) -> str:
    """One test case per check, a failure for each failed check, skipped ones marked."""
    checks = report["checks"]
    suite = ET.Element("testsuite", name="cltool validate", tests=str(len(checks)),
                       failures=str(sum(c["status"] == FAIL for c in checks)),
                       skipped=str(sum(c["status"] == SKIP for c in checks)))
    ET.SubElement(ET.SubElement(suite, "properties"), "property", name="dataset", value=str(report["dataset"]))
    for c in checks:
        case = ET.SubElement(suite, "testcase", classname=f"cltool.validate.{Path(str(report['dataset'])).name}",
                             name=c["name"])
        if c["status"] == FAIL:
            failure = ET.SubElement(case, "failure", message=f"{c['detail']} (value {c['value']}, limit {c['limit']})")
            failure.text = json.dumps(c["examples"], indent=2, ensure_ascii=False, default=str)
        elif c["status"] == SKIP:
            ET.SubElement(case, "skipped", message=c["detail"])
        else:
            ET.SubElement(case, "system-out").text = f"{c['detail']} (value {c['value']}, limit {c['limit']})"
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"

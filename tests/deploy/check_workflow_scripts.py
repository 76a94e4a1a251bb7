#!/usr/bin/env python3
"""Checks the shell of every `run:` step of every GitHub workflow under .github/workflows.

Each step's script is written to a file as the runner would run it (`bash -e {0}` by default,
the job's or workflow's `defaults.run.shell`, or the step's `shell:`), with every GitHub
expression `${{ ... }}` replaced by a placeholder word first, then checked with `bash -n`
(syntax) and `shellcheck` (Debian package shellcheck). Steps with a shell that is not bash or
sh (pwsh, python, ...) are skipped and said so.

Prints ok/FAIL per step and ends with `workflow-scripts: N passed, M failed`; exits 1 on any
failure. Needs Python 3 and PyYAML (python3-yaml).

Usage: tests/deploy/check_workflow_scripts.py [--repo DIR] [WORKFLOW.yml ...]
"""
import argparse
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

EXPRESSION = re.compile(r"\$\{\{.*?\}\}", re.S)
# A word that is valid wherever an expression can stand (a command, an argument, a quoted
# string) and that shellcheck reads as a literal.
PLACEHOLDER = "GITHUB_EXPRESSION"


def shell_of(step, job, workflow):
    """The shell a step runs with, as GitHub chooses it."""
    for scope in (step, (job.get("defaults") or {}).get("run") or {},
                  (workflow.get("defaults") or {}).get("run") or {}):
        if scope.get("shell"):
            return str(scope["shell"]).split()[0]
    return "bash"


def run_steps(path):
    """(name, shell, script) for every run: step of the workflow file, in order."""
    workflow = yaml.safe_load(path.read_text()) or {}
    for job_id, job in (workflow.get("jobs") or {}).items():
        for index, step in enumerate(job.get("steps") or [], 1):
            if "run" not in step:
                continue
            name = f"{path.name}: {job_id}: step {index}"
            if step.get("name"):
                name += f" ({step['name']})"
            yield name, shell_of(step, job, workflow), str(step["run"])


def check_script(shell, script, scratch):
    """Problems (strings) bash -n and shellcheck find in the script."""
    script_file = scratch / "step.sh"
    script_file.write_text(EXPRESSION.sub(PLACEHOLDER, script) + "\n")
    problems = []
    syntax = subprocess.run([shell, "-n", str(script_file)], capture_output=True, text=True)
    if syntax.returncode != 0:
        problems.append(f"{shell} -n: " + syntax.stderr.strip().replace(str(script_file), "run"))
    # SC2157 (a test of a constant string) is what `[ -n "${{ x }}" ]` becomes once the
    # expression is a placeholder; on GitHub the runner substitutes the value first.
    lint = subprocess.run(["shellcheck", "--shell", shell, "--format", "gcc", "--exclude", "SC2157",
                           str(script_file)],
                          capture_output=True, text=True)
    if lint.returncode != 0:
        problems += [line.replace(str(script_file), "run") for line in lint.stdout.splitlines()]
    return problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repo", default=pathlib.Path(__file__).resolve().parents[2], type=pathlib.Path)
    parser.add_argument("workflows", nargs="*", type=pathlib.Path)
    args = parser.parse_args()
    if not shutil.which("shellcheck"):
        print("FAIL: shellcheck is not installed (Debian package shellcheck)")
        print("workflow-scripts: 0 passed, 1 failed")
        return 1
    workflows = args.workflows or sorted((args.repo / ".github" / "workflows").glob("*.y*ml"))
    passed = failed = 0
    with tempfile.TemporaryDirectory() as scratch:
        for workflow in workflows:
            for name, shell, script in run_steps(workflow):
                if shell not in ("bash", "sh"):
                    print(f"skip: {name}: shell {shell}")
                    continue
                problems = check_script(shell, script, pathlib.Path(scratch))
                if problems:
                    failed += 1
                    print(f"FAIL: {name}")
                    for problem in problems:
                        print(f"    {problem}")
                else:
                    passed += 1
                    print(f"ok: {name}")
    if passed + failed == 0:
        print("FAIL: no run: step found in the workflows")
        failed = 1
    print(f"workflow-scripts: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Each rule group's conda env pins the same versions as the pip lock and pyproject."""
import re
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def _pins(lines):
    out = {}
    for line in lines:
        m = re.match(r"^\s*([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        if m:
            out[m.group(1).lower().replace("_", "-")] = m.group(2)
    return out


def test_env_files_agree_with_the_lock():
    lock = _pins((REPO / "requirements.lock").read_text().splitlines())
    project = _pins(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"])
    envs = sorted((REPO / "envs").glob("*.yaml"))
    assert {e.stem for e in envs} >= {"data", "torch", "stats"}
    for env in envs:
        spec = yaml.safe_load(env.read_text())
        pip = next(d["pip"] for d in spec["dependencies"] if isinstance(d, dict) and "pip" in d)
        pins = _pins(pip)
        assert pins, f"{env.name} pins nothing"
        for name, version in pins.items():
            expected = project.get(name) or lock.get(name)
            assert expected is not None, f"{env.name}: {name} is neither in pyproject.toml nor in the lock"
            assert version == expected, f"{env.name}: {name}=={version}, lock/pyproject say {expected}"


def test_every_rule_names_a_conda_env_that_exists():
    for smk in (REPO / "workflow" / "rules").glob("*.smk"):
        for env in re.findall(r'conda:\s*\n\s*"([^"]+)"', smk.read_text()):
            assert (smk.parent / env).resolve().exists(), f"{smk.name}: {env}"


def test_env_files_pin_every_pip_package():
    """No floating pip entry in an env: each is name==version, or the project itself (-e ..)."""
    for env in sorted((REPO / "envs").glob("*.yaml")):
        spec = yaml.safe_load(env.read_text())
        pip = next(d["pip"] for d in spec["dependencies"] if isinstance(d, dict) and "pip" in d)
        loose = [p for p in pip if p != "-e .." and not re.match(r"^[A-Za-z0-9_.\-]+==\S+$", p)]
        assert not loose, f"{env.name}: unpinned pip entries {loose}"

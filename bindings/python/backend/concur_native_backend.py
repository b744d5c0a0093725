"""The PEP 517 build backend of concur-native: maturin, plus a manylinux wheel on Linux.

Built from the repository on Linux (glibc, x86_64 or aarch64), the wheel is linked with zig
against glibc 2.17 (maturin's ``--zig --compatibility manylinux2014``), so that
``pip wheel ./bindings/python`` gives a ``manylinux_2_17`` abi3 wheel that PyPI accepts and any
Linux of the last decade installs; ``ziglang`` (from PyPI) is then asked for as a build
requirement. Built from an unpacked sdist (it has PKG-INFO: a user's ``pip install`` on a
platform without a published wheel), nothing changes from plain maturin: no ziglang download,
a ``linux`` wheel for this machine. Build arguments of your own that name ``--compatibility``,
``--manylinux`` or ``--zig`` (``MATURIN_PEP517_ARGS`` or ``--config-settings
maturin.build-args=...``) are passed on unchanged and turn this off.
"""

from __future__ import annotations

import os
import platform
import sys
from typing import Any, Mapping, Optional

import maturin
from maturin import (  # noqa: F401 - the hooks this backend leaves to maturin
    build_sdist,
    get_requires_for_build_sdist,
    prepare_metadata_for_build_wheel,
)

# The zig that maturin 1.16 was checked with here (0.17); older ones lack glibc 2.17 stubs.
ZIGLANG = "ziglang>=0.13"
MANYLINUX = ["--zig", "--compatibility", "manylinux2014"]


def _manylinux(config_settings: Optional[Mapping[str, Any]]) -> bool:
    if sys.platform != "linux" or platform.machine() not in ("x86_64", "aarch64"):
        return False
    if platform.libc_ver()[0] != "glibc":
        return False
    if os.path.exists("PKG-INFO"):  # an unpacked sdist
        return False
    chosen = maturin.get_maturin_pep517_args(config_settings)
    return not any(a.split("=")[0] in ("--compatibility", "--manylinux", "--zig") for a in chosen)


def get_requires_for_build_wheel(config_settings: Optional[Mapping[str, Any]] = None) -> list:
    requires = list(maturin.get_requires_for_build_wheel(config_settings))
    if _manylinux(config_settings):
        requires.append(ZIGLANG)
    return requires


def build_wheel(
    wheel_directory: str,
    config_settings: Optional[Mapping[str, Any]] = None,
    metadata_directory: Optional[str] = None,
) -> str:
    if _manylinux(config_settings):
        settings = dict(config_settings or {})
        settings["maturin.build-args"] = [*maturin.get_maturin_pep517_args(config_settings), *MANYLINUX]
        settings.pop("build-args", None)
        config_settings = settings
    return maturin.build_wheel(wheel_directory, config_settings, metadata_directory)


# An editable install is for this machine only: plain maturin.
build_editable = maturin.build_editable
get_requires_for_build_editable = maturin.get_requires_for_build_editable

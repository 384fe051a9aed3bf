"""Build script for agrifleet.

The repository root holds the top-level folders ``core/ plugins/ planners/ drivers/ sim/ ext/``; each is
mapped to a subpackage of the import root ``agrifleet`` (which has no folder of its own), so the same
imports work from a wheel and from an editable install. Cython kernels are ``ext/_<topic>.pyx`` and build
as ``agrifleet.ext._<topic>``.

Set ``AGRIFLEET_CYTHON_DEBUG=1`` to build the kernels with bounds checks and line tracing switched back on.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from setuptools import Extension, find_packages, setup

ROOT = Path(__file__).parent.resolve()
TOP_LEVEL = ("core", "plugins", "planners", "drivers", "sim", "ext")
DEBUG = os.environ.get("AGRIFLEET_CYTHON_DEBUG") == "1"
# Batch kernels split large batches over the cores with OpenMP (gcc's libgomp on Linux); AGRIFLEET_OPENMP=0
# builds them single-threaded (e.g. for a compiler without OpenMP).
OPENMP = ["-fopenmp"] if sys.platform.startswith("linux") and os.environ.get("AGRIFLEET_OPENMP", "1") != "0" else []


def package_layout() -> tuple[list[str], dict[str, str]]:
    """Map every package below the top-level folders onto ``agrifleet.<folder>...``."""
    packages: list[str] = []
    package_dir: dict[str, str] = {}
    for top in TOP_LEVEL:
        packages.append(f"agrifleet.{top}")
        package_dir[f"agrifleet.{top}"] = top
        for sub in find_packages(where=top):
            name = f"agrifleet.{top}.{sub}"
            packages.append(name)
            package_dir[name] = os.path.join(top, *sub.split("."))
    return packages, package_dir


def get_extension_modules() -> list[Extension]:
    """One Extension per ``ext/_<topic>.pyx``; the one list of compiled code in the project."""
    import numpy
    from Cython.Build import cythonize

    directives = {
        "language_level": "3",
        "boundscheck": DEBUG,
        "wraparound": False,
        "cdivision": True,
        "initializedcheck": DEBUG,
        "embedsignature": True,
    }
    macros = [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]
    if DEBUG:
        directives["linetrace"] = True
        macros.append(("CYTHON_TRACE_NOGIL", "1"))
    extensions = [
        Extension(
            f"agrifleet.ext.{pyx.stem}",
            [str(pyx.relative_to(ROOT))],
            include_dirs=[numpy.get_include(), "ext"],
            define_macros=macros,
            extra_compile_args=(["-O3"] if not DEBUG else ["-O0", "-g"]) + OPENMP,
            extra_link_args=OPENMP,
        )
        for pyx in sorted((ROOT / "ext").glob("_*.pyx"))
    ]
    return cythonize(extensions, compiler_directives=directives, include_path=["ext", _pxd_root()], quiet=True)


def _pxd_root() -> str:
    """A folder in which ``agrifleet/ext/*.pxd`` exists: Cython finds a module's own ``.pxd`` (and every
    ``cimport``) by the module's full name, and ``agrifleet`` has no folder of its own."""
    shim = ROOT / "build" / "cython-include" / "agrifleet"
    shim.mkdir(parents=True, exist_ok=True)
    try:
        (shim / "ext").symlink_to(ROOT / "ext", target_is_directory=True)
    except FileExistsError:
        pass
    return str(shim.parent)


PACKAGES, PACKAGE_DIR = package_layout()

INSTALL_REQUIRES = [
    "numpy>=1.26",
    "scipy>=1.11",
    "shapely>=2.0",
    "pyproj>=3.6",
    "msgpack>=1.0",
    "pyzmq>=25",
    "pymavlink>=2.4.40",
    "fastcrc>=0.3",
    "fastkml>=1.0",
    "pyshp>=2.3",
    "lxml>=4.9",
    "matplotlib>=3.7",
    "tqdm>=4.60",
]

TEST_REQUIRES = [
    "pytest>=8",
    "pytest-timeout>=2.2",
    "hypothesis>=6.100",
    "mavsdk>=4,<5",
    "MAVProxy>=1.8.70",
    "ompl>=1.7",
    "rsplan>=1.0",
    "isoxml>=0.0.4",
    "dask[distributed]>=2024.1",
]

ENTRY_POINTS = {
    "console_scripts": ["agrifleet = agrifleet.core.cli:main"],
    # Sub-commands of the `agrifleet` command line, contributed by each package.
    "agrifleet.commands": [
        "plan = agrifleet.planners.cli:PlanCommand",
        "demo = agrifleet.sim.demo:DemoCommand",
        "plugins = agrifleet.core.plugin_cli:PluginsCommand",
        "export = agrifleet.planners.export.cli:ExportCommand",
        "serve = agrifleet.core.fleet_cli:ServeCommand",
        "job = agrifleet.core.fleet_cli:JobCommand",
        "watch = agrifleet.core.fleet_cli:WatchCommand",
        "keys = agrifleet.core.fleet_cli:KeysCommand",
        "agent = agrifleet.drivers.cli:AgentCommand",
        "sim = agrifleet.sim.cli:SimCommand",
        "survey = agrifleet.planners.drone_cli:SurveyCommand",
        "plan-job = agrifleet.planners.drone_cli:PlanJobCommand",
    ],
    "agrifleet.planners": [
        "coverage = agrifleet.planners.coverage:CoveragePlanner",
        "survey = agrifleet.planners.survey:SurveyPlanner",
        "job = agrifleet.planners.partition:JobPlanner",
    ],
    "agrifleet.implements": [
        "sprayer = agrifleet.plugins.sprayer:Sprayer",
        "seeder = agrifleet.plugins.seeder:Seeder",
        "spreader = agrifleet.plugins.spreader:Spreader",
        "mower = agrifleet.plugins.mower:Mower",
        "camera = agrifleet.plugins.camera:SurveyCamera",
    ],
    "agrifleet.drivers": [
        "sim = agrifleet.drivers.sim:SimDriver",
        "tractor = agrifleet.drivers.tractor:TractorDriver",
        "mavlink = agrifleet.drivers.mavlink:MavlinkDriver",
    ],
    "agrifleet.vehicles": [
        "tractor = agrifleet.sim.vehicles:TractorModel",
        "rover = agrifleet.sim.vehicles:RoverModel",
        "multirotor = agrifleet.sim.vehicles:MultirotorModel",
    ],
}

setup(
    name="agrifleet",
    version="0.1.0",
    description="Plan, simulate and run field work for fleets of autonomous tractors and agricultural drones",
    long_description=(ROOT / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.11",
    packages=PACKAGES,
    package_dir=PACKAGE_DIR,
    package_data={"agrifleet.core": ["py.typed", "data/*"], "agrifleet.sim": ["data/*"],
                  "agrifleet.ext": ["*.pyx", "*.pxd", "*.pyi"]},
    ext_modules=get_extension_modules(),
    install_requires=INSTALL_REQUIRES,
    extras_require={"test": TEST_REQUIRES},
    entry_points=ENTRY_POINTS,
    zip_safe=False,
)

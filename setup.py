"""pip's entry to the Python module `attn`: the project's CMake builds it.

pip (through setuptools) calls build_ext; this configures the project without
its tests and benchmarks in build/python-wheel, builds the `attn_python` target
alone (the library and the module) and copies the module where setuptools packs
it. The
version is project()'s, read from CMakeLists.txt, so that the wheel and
attn.version() agree. Extra CMake arguments: the environment variable
ATTN_CMAKE_ARGS (split on spaces), e.g. "-DATTN_KERNEL_AVX512=OFF".
"""
import os
import re
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.abspath(__file__))


def project_version():
    with open(os.path.join(ROOT, "CMakeLists.txt"), encoding="utf-8") as f:
        match = re.search(r"project\(\s*attn\s+VERSION\s+([0-9]+\.[0-9]+\.[0-9]+)", f.read())
    if not match:
        sys.exit("CMakeLists.txt: no project(attn VERSION x.y.z)")
    return match.group(1)


class CMakeModule(Extension):
    def __init__(self, name):
        super().__init__(name, sources=[])


class BuildWithCMake(build_ext):
    def build_extension(self, ext):
        build = os.path.join(ROOT, "build", "python-wheel")
        configure = ["cmake", "-S", ROOT, "-B", build, "-DCMAKE_BUILD_TYPE=Release",
                     "-DATTN_BUILD_TESTS=OFF", "-DATTN_BUILD_BENCH=OFF",
                     "-DATTN_BUILD_PYTHON=ON", "-DPython3_EXECUTABLE=" + sys.executable]
        configure += os.environ.get("ATTN_CMAKE_ARGS", "").split()
        subprocess.run(configure, check=True)
        subprocess.run(["cmake", "--build", build, "--target", "attn_python", "-j", str(os.cpu_count() or 1)],
                       check=True)
        built = [f for f in os.listdir(os.path.join(build, "python"))
                 if f.startswith("attn.") and f.endswith(".so")]
        if len(built) != 1:
            sys.exit("expected one attn*.so in %s, found %r" % (os.path.join(build, "python"), built))
        target = self.get_ext_fullpath(ext.name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(os.path.join(build, "python", built[0]), target)


setup(version=project_version(), ext_modules=[CMakeModule("attn")], cmdclass={"build_ext": BuildWithCMake},
      py_modules=[], packages=[])

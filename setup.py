"""Packaging beside pyproject.toml for the one thing it cannot say: the packages found under
xltools/ plus two mapped onto the repository's own folders, so that the wheel carries the specs
and the template (package data, found with importlib.resources) without a second copy in git."""
from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["xltools", "xltools.*"]), "xltools._specs", "xltools._templates"],
    package_dir={"xltools._specs": "specs", "xltools._templates": "templates"},
)

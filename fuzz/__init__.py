"""atheris fuzz targets for the decode pipeline; see README.md."""

"""Stage three: the output folder, its releases and manifest, and where a release goes next."""

"""The one exception the serving side raises on purpose."""


class SnapshotError(Exception):
    """The published folder cannot be served (missing, unpublished or corrupt).

    Raised loudly from start-up; at request time the app catches it, keeps
    serving the last good release and reports the problem on /healthz.
    """

"""Stage one: a GTFS feed into a database, checked, all or nothing."""

"""Stage two: the database walked into documents, pass by pass, every kind the registry declares."""

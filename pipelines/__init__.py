"""Everything that writes or reads heed's Parquet: schemas, writers, the run directory, audit."""

"""Piano rolls, TFRecords and the end-to-end chain; arrives with the build-records issue."""

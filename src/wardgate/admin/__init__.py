"""The admin port: health now; the API and dashboard come with the operations work."""

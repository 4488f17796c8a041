"""The operator's web page: server-rendered HTML over the same ports and tokens as the API."""

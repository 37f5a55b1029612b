"""The HTTP proxy transport: HTTP/1.1 framing, the forward proxy server, TLS interception."""

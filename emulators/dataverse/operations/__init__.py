"""Web API operations, one module per area; each turns a parsed `Request` into a `Response`."""

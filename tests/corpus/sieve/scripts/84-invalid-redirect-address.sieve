# Invalid: a constant redirect address must be a valid address (RFC 5228 §4.2).
redirect "not an address";

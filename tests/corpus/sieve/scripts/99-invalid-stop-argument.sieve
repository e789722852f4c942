# Invalid: stop takes no arguments (RFC 5228 §3.3).
stop "now";

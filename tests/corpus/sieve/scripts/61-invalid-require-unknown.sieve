# Invalid: requiring an extension nobody implements (RFC 5228 §3.2).
require "x-no-such-extension";
keep;

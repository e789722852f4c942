# Invalid: "set" cannot assign a match variable (RFC 5229 §3: variable names are identifiers).
require "variables";
set "1" "x";

# Invalid: vacation :from must be a valid address (RFC 5230 §4.4).
require "vacation";
vacation :from "not an address" "Away.";

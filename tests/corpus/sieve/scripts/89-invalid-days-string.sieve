# Invalid: :days takes a number (RFC 5230 §4.1).
require "vacation";
vacation :days "seven" "Away.";

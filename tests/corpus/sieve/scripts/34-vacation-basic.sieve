# RFC 5230: a plain vacation; the RFC 3834 checks decide whether a reply goes out.
require "vacation";
vacation :days 3 "I'm out of the office until April.";

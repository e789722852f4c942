# RFC 5230 §4.5: :addresses lists more addresses of the user.
require "vacation";
vacation :addresses ["team@example.net", "bob@example.org", "carol@example.org"] "Away.";

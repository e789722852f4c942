# RFC 5230 §4.5: :addresses are the user's too: never reply to them, and they count as personal.
require "vacation";
vacation :addresses ["alice@example.com", "someone-else@example.org", "dev@lists.example.org"] "Away.";

"""Mail rules: what happens to a message after it reached a local account.

The one engine is Sieve (``kastell.sieve``); everything else that makes rules
writes objects the engine reads:

- ``scripts`` — users' Sieve scripts (ManageSieve, the API) and domains' global
  scripts that run before and after them;
- ``oof`` — out-of-office, one object per account, turned into a vacation rule;
- ``forwarding`` — forward every message, keep a copy or not;
- ``engine`` — assembles a recipient's effective rules and runs them, with the
  response and duplicate tracking the Sieve extensions need;
- ``srs`` — sender rewriting for forwards that leave the server.

Executing the actions (storing, queueing, replying) is the delivery pipeline's
job (``kastell.mail.deliver``).
"""

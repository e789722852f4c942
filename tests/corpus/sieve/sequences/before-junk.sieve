# A sieve_before script that files spam: the implicit keep is cancelled, later scripts do not run.
require "fileinto";
if header :contains "subject" ["SPAM", "cheap"] {
  fileinto "Junk";
}

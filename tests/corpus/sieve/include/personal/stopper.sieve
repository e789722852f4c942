# Included by 79-include-stop.sieve: stops everything for list mail.
require "fileinto";
if exists "list-id" {
  fileinto "StoppedInInclude";
  stop;
}

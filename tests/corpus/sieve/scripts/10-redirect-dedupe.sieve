# RFC 5228 §2.10.3: redirecting twice to the same address sends once.
require "copy";
redirect :copy "bob@forward.example";
redirect :copy "bob@forward.example";
redirect :copy "other@forward.example";

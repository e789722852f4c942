"""The admin web console at ``/admin/`` (server-rendered Jinja2 + htmx) and the administration mounts."""

"""The channels module's pages."""

from sargs.web.modules import module_blueprint

bp = module_blueprint(
    "channels", __name__, allowed=["admin", "commission", "operator"], read=["auditor"]
)

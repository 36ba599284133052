"""(to be written)"""

from flask import Blueprint

bp = Blueprint("volunteer_portal", __name__, template_folder="templates", url_prefix="/volunteer")

"""(to be written)"""

from flask import Blueprint

bp = Blueprint("reserves_api", __name__, template_folder="templates", url_prefix="/api/v1/reserves")

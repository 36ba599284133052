"""(to be written)"""

from flask import Blueprint

bp = Blueprint("callouts", __name__, template_folder="templates", url_prefix="/volunteers/callouts")

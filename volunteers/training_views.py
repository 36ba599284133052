"""(to be written)"""

from flask import Blueprint

bp = Blueprint("training", __name__, template_folder="templates", url_prefix="/volunteers/training")

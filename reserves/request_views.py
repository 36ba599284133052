"""(to be written)"""

from flask import Blueprint

bp = Blueprint("reserve_requests", __name__, template_folder="templates", url_prefix="/reserves/requests")

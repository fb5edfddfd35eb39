"""Each request of a logged-in session: the account still valid, the session within its policy, last seen."""

import time

from django.contrib import messages
from django.contrib.auth import logout

from accounts import services, session_policy
from accounts.selectors import login_refusal

# Writing last-seen on every request would save the session each time; once a minute is enough.
_TOUCH_INTERVAL = 60


class SessionActivityMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user, session = request.user, request.session
        if not user.is_authenticated:
            ended_because = session.pop(session_policy.ENDED_BECAUSE, None)
            if ended_because:
                messages.info(request, ended_because)
            return self.get_response(request)
        now = int(time.time())
        refusal = login_refusal(user)
        if refusal:
            # The account expired while this session was open.
            logout(request)
            messages.info(request, refusal)
        elif session_policy.timed_out(session, user, now):
            logout(request)
            messages.info(request, "Your session timed out. Please log in again.")
        elif now - session.get(session_policy.SEEN_AT, now) >= _TOUCH_INTERVAL or session_policy.SEEN_AT not in session:
            session[session_policy.SEEN_AT] = now
            services.session_touch(session_key=session.session_key)
        return self.get_response(request)

"""The one Piccolo app; its migrations live in the top-level migrations/ folder."""

from piccolo.conf.apps import AppConfig

from conference.accounts.tables import LoginThrottle, Session, User
from conference.agenda.tables import AgendaItem, AgendaItemUnit, AgendaSlot, Attachment, IntakeRequest, SpecialMeetingRequestItem
from conference.audit.tables import AuditEvent
from conference.calendar.tables import CalendarFeed
from conference.documents.tables import DocumentCounter
from conference.holidays.tables import HolidayCalendar, HolidayDay
from conference.integrations.tables import IntegrationDelivery, IntegrationEvent, IntegrationTarget
from conference.mail.tables import CalendarReply, NotificationAttachment
from conference.meetings.tables import Invitation, Meeting, SpecialMeetingRequest
from conference.minutes.tables import Minutes, MinutesComment, MinutesPublication, MinutesVersion
from conference.notifications.tables import Notification
from conference.registry.tables import (
    Conference,
    ConvenorAppointment,
    Membership,
    MemberUnit,
    Person,
    Street,
)
from conference.settings import ROOT
from conference.supervision.tables import AssessmentScore
from conference.tasks.tables import Resolution, ResolutionAttachment, ResolutionUnit, Task, TaskAttachment, TaskReport

APP_CONFIG = AppConfig(
    app_name="conference",
    migrations_folder_path=str(ROOT / "migrations"),
    table_classes=[
        Street, Conference, MemberUnit, Membership, Person, ConvenorAppointment, User, Session, AuditEvent,
        Meeting, Invitation, SpecialMeetingRequest, AgendaItem, AgendaItemUnit, AgendaSlot, Attachment, Notification,
        Resolution, ResolutionUnit, ResolutionAttachment, Task, TaskReport, TaskAttachment, CalendarFeed, LoginThrottle,
        Minutes, MinutesVersion, MinutesComment, MinutesPublication, HolidayDay, HolidayCalendar,
        AssessmentScore, CalendarReply, SpecialMeetingRequestItem, DocumentCounter, NotificationAttachment,
        IntegrationTarget, IntegrationEvent, IntegrationDelivery, IntakeRequest,
    ],
    migration_dependencies=[],
    commands=[],
)

"""Back to the district: what to fix, in Vietnamese, after every run (issue 12).

``messages`` turns a district's open quarantine entries into one row per problem (the
field to correct, its current value, what is wrong in plain Vietnamese, from the message
catalogue ``include/feedback/messages.vi.yaml``); ``fixlist`` writes them as the
district's workbook; ``reports`` renders the district's and the province's HTML reports;
``outbox`` keeps both per district and run and mails them. None of them knows Airflow.
"""

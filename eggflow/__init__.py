"""EggHand: egocentric 3D hand forecasting with a frozen video-text encoder and a GR00T-style flow head."""

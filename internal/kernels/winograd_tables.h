// Winograd's matrices for the C kernels, written by TestWinogradTables from winograd.go
// (go test ./internal/kernels -run WinogradTables -update): do not edit.

#ifndef DN_WINOGRAD_TABLES_H
#define DN_WINOGRAD_TABLES_H

// F(2x2,3x3)'s BT
#define DN_F2_BT 1
static const float dn_f2_BT[16] = {1.0f, 0.0f, -1.0f, 0.0f, 0.0f, 1.0f, 1.0f, 0.0f, 0.0f, -1.0f, 1.0f, 0.0f, 0.0f, 1.0f, 0.0f, -1.0f};

// F(2x2,3x3)'s B
#define DN_F2_B 2
static const float dn_f2_B[16] = {1.0f, 0.0f, 0.0f, 0.0f, 0.0f, 1.0f, -1.0f, 1.0f, -1.0f, 1.0f, 1.0f, 0.0f, 0.0f, 0.0f, 0.0f, -1.0f};

// F(2x2,3x3)'s AT
#define DN_F2_AT 3
static const float dn_f2_AT[8] = {1.0f, 1.0f, 1.0f, 0.0f, 0.0f, 1.0f, -1.0f, -1.0f};

// F(2x2,3x3)'s A
#define DN_F2_A 4
static const float dn_f2_A[8] = {1.0f, 0.0f, 1.0f, 1.0f, 1.0f, -1.0f, 0.0f, -1.0f};

// F(4x4,3x3)'s BT
#define DN_F4_BT 5
static const float dn_f4_BT[36] = {4.0f, 0.0f, -5.0f, 0.0f, 1.0f, 0.0f, 0.0f, -4.0f, -4.0f, 1.0f, 1.0f, 0.0f, 0.0f, 4.0f, -4.0f, -1.0f, 1.0f, 0.0f, 0.0f, -2.0f, -1.0f, 2.0f, 1.0f, 0.0f, 0.0f, 2.0f, -1.0f, -2.0f, 1.0f, 0.0f, 0.0f, 4.0f, 0.0f, -5.0f, 0.0f, 1.0f};

// F(4x4,3x3)'s B
#define DN_F4_B 6
static const float dn_f4_B[36] = {4.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, -4.0f, 4.0f, -2.0f, 2.0f, 4.0f, -5.0f, -4.0f, -4.0f, -1.0f, -1.0f, 0.0f, 0.0f, 1.0f, -1.0f, 2.0f, -2.0f, -5.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 1.0f};

// F(4x4,3x3)'s AT
#define DN_F4_AT 7
static const float dn_f4_AT[24] = {1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 0.0f, 0.0f, 1.0f, -1.0f, 2.0f, -2.0f, 0.0f, 0.0f, 1.0f, 1.0f, 4.0f, 4.0f, 0.0f, 0.0f, 1.0f, -1.0f, 8.0f, -8.0f, 1.0f};

// F(4x4,3x3)'s A
#define DN_F4_A 8
static const float dn_f4_A[24] = {1.0f, 0.0f, 0.0f, 0.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, -1.0f, 1.0f, -1.0f, 1.0f, 2.0f, 4.0f, 8.0f, 1.0f, -2.0f, 4.0f, -8.0f, 0.0f, 0.0f, 0.0f, 1.0f};

// F(2x2,5x5)'s AT
#define DN_F2K5_AT 9
static const float dn_f2k5_AT[12] = {1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 0.0f, 0.0f, 1.0f, -1.0f, 2.0f, -2.0f, 1.0f};

// F(2x2,5x5)'s A
#define DN_F2K5_A 10
static const float dn_f2k5_A[12] = {1.0f, 0.0f, 1.0f, 1.0f, 1.0f, -1.0f, 1.0f, 2.0f, 1.0f, -2.0f, 0.0f, 1.0f};

// F(6x6,3x3)'s BT
#define DN_F6_BT 11
static const float dn_f6_BT[64] = {1.0f, 0.0f, -5.25f, 0.0f, 5.25f, 0.0f, -1.0f, 0.0f, 0.0f, 1.0f, 1.0f, -4.25f, -4.25f, 1.0f, 1.0f, 0.0f, 0.0f, -1.0f, 1.0f, 4.25f, -4.25f, -1.0f, 1.0f, 0.0f, 0.0f, 0.5f, 0.25f, -2.5f, -1.25f, 2.0f, 1.0f, 0.0f, 0.0f, -0.5f, 0.25f, 2.5f, -1.25f, -2.0f, 1.0f, 0.0f, 0.0f, 2.0f, 4.0f, -2.5f, -5.0f, 0.5f, 1.0f, 0.0f, 0.0f, -2.0f, 4.0f, 2.5f, -5.0f, -0.5f, 1.0f, 0.0f, 0.0f, -1.0f, 0.0f, 5.25f, 0.0f, -5.25f, 0.0f, 1.0f};

// F(6x6,3x3)'s B
#define DN_F6_B 12
static const float dn_f6_B[64] = {1.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 1.0f, -1.0f, 0.5f, -0.5f, 2.0f, -2.0f, -1.0f, -5.25f, 1.0f, 1.0f, 0.25f, 0.25f, 4.0f, 4.0f, 0.0f, 0.0f, -4.25f, 4.25f, -2.5f, 2.5f, -2.5f, 2.5f, 5.25f, 5.25f, -4.25f, -4.25f, -1.25f, -1.25f, -5.0f, -5.0f, 0.0f, 0.0f, 1.0f, -1.0f, 2.0f, -2.0f, 0.5f, -0.5f, -5.25f, -1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 1.0f};

// F(6x6,3x3)'s AT
#define DN_F6_AT 13
static const float dn_f6_AT[48] = {1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 0.0f, 0.0f, 1.0f, -1.0f, 2.0f, -2.0f, 0.5f, -0.5f, 0.0f, 0.0f, 1.0f, 1.0f, 4.0f, 4.0f, 0.25f, 0.25f, 0.0f, 0.0f, 1.0f, -1.0f, 8.0f, -8.0f, 0.125f, -0.125f, 0.0f, 0.0f, 1.0f, 1.0f, 16.0f, 16.0f, 0.0625f, 0.0625f, 0.0f, 0.0f, 1.0f, -1.0f, 32.0f, -32.0f, 0.03125f, -0.03125f, 1.0f};

// F(6x6,3x3)'s A
#define DN_F6_A 14
static const float dn_f6_A[48] = {1.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, -1.0f, 1.0f, -1.0f, 1.0f, -1.0f, 1.0f, 2.0f, 4.0f, 8.0f, 16.0f, 32.0f, 1.0f, -2.0f, 4.0f, -8.0f, 16.0f, -32.0f, 1.0f, 0.5f, 0.25f, 0.125f, 0.0625f, 0.03125f, 1.0f, -0.5f, 0.25f, -0.125f, 0.0625f, -0.03125f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 1.0f};

#endif
